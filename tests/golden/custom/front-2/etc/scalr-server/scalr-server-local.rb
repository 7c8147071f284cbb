# /etc/scalr-server/scalr-server-local.rb for host front-2 of Scalr deployment golden-custom.
# Written by scalr-installer. The only configuration file that differs between hosts: it turns
# on the modules this host runs (Proxy, App).

proxy[:enable] = true
web[:enable] = true
cron[:enable] = true
