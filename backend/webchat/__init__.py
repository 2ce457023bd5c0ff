"""The web chat's server side: session tokens, allowed origins, the replayed transcript."""
