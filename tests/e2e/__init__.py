"""HTTP end-to-end tests over create_app(build(...))."""
