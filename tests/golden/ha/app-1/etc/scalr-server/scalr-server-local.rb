# /etc/scalr-server/scalr-server-local.rb for host app-1 of Scalr deployment golden-ha.
# Written by scalr-installer. The only configuration file that differs between hosts: it turns
# on the modules this host runs (Proxy, App, Session).

proxy[:enable] = true
memcached[:enable] = true
web[:enable] = true
cron[:enable] = true
