//! PVSS with DLEQ proofs. Work in progress.
