"""The SimpleFIN sandbox: a real HTTP server speaking the SimpleFIN protocol (v1 and the v2 draft) as the
SimpleFIN Bridge serves it, for development and tests without a Bridge account."""
