# /etc/scalr-server/scalr-server-local.rb for host scalr of Scalr deployment golden-compact.
# Written by scalr-installer. The only configuration file that differs between hosts: it turns
# on the modules this host runs (Proxy, App, Session, RabbitMQ, Worker, InfluxDB, Main DB, Cost Analytics DB).
# The compact layout turns every module on with `enable_all true` in scalr-server.rb.
