"""What the SEEEN work adds on top of the pixplot core: annotation server and store, exports,
upload, face detection and embedders. Registered through the core's entry points; the core never
imports this package."""
