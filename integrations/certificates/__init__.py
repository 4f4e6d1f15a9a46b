"""E-certificates' JOSE: Ed25519 keys and compact JWS through joserfc (adapters/certificates.py
decides what is signed and when)."""
