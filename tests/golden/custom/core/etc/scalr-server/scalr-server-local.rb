# /etc/scalr-server/scalr-server-local.rb for host core of Scalr deployment golden-custom.
# Written by scalr-installer. The only configuration file that differs between hosts: it turns
# on the modules this host runs (RabbitMQ, Worker, InfluxDB, Main DB, Cost Analytics DB).

service[:enable] = true
rabbitmq[:enable] = true
influxdb[:enable] = true
mysql[:enable] = true

# The active database: it writes a binary log that the replica on 192.0.2.30 follows.
mysql[:server_id] = 1
mysql[:binlog] = true
mysql[:allow_remote_root] = true
mysql[:repl_allow_connections_from] = '192.0.2.30'
