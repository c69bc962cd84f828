"""`python -m ndx_gateway` / `ndx-gateway [serve|migrate]`: runs the gateway until SIGTERM
(several worker processes on one port when GATEWAY_WORKERS > 1), or migrates its database."""

from ndx_gateway.entrypoint import main

main()
