"""`python -m ndx_gateway`: runs the gateway until SIGTERM (several worker processes on one
port when GATEWAY_WORKERS > 1)."""

from ndx_gateway.entrypoint import main

main()
