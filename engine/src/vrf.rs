//! ECVRF-EDWARDS25519-SHA512-TAI (RFC 9381, suite 0x03). Work in progress.
