"""Double-entry ledger: accounts, journal entries, postings, trial balance, verification."""
