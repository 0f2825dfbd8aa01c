"""`make deploy-test`: the installer under a booted systemd (see __main__)."""
