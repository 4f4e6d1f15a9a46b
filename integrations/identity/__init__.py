"""Staff sign-in through an OpenID Connect identity provider (the province's IdP)."""
