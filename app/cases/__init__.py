"""Cases, pseudonymous subject identifiers and the chronology of a case."""
