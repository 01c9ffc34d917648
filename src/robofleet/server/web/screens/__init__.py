"""The screens, one module each; web.routes lists them."""
