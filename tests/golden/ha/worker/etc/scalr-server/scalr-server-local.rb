# /etc/scalr-server/scalr-server-local.rb for host worker of Scalr deployment golden-ha.
# Written by scalr-installer. The only configuration file that differs between hosts: it turns
# on the modules this host runs (RabbitMQ, Worker).

service[:enable] = true
rabbitmq[:enable] = true
