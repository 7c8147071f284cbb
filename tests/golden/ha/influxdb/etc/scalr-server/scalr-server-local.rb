# /etc/scalr-server/scalr-server-local.rb for host influxdb of Scalr deployment golden-ha.
# Written by scalr-installer. The only configuration file that differs between hosts: it turns
# on the modules this host runs (InfluxDB).

influxdb[:enable] = true
