"""The shared HTTP kit, on the floor below the domains: the request's session and the outside world's clients
(`dependencies`), the error envelope and its handlers (`error_envelope`), how operations document their answers
(`responses`), base schemas, keyset pagination, and what the router knows about a request it could not route."""
