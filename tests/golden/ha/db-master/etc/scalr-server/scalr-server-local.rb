# /etc/scalr-server/scalr-server-local.rb for host db-master of Scalr deployment golden-ha.
# Written by scalr-installer. The only configuration file that differs between hosts: it turns
# on the modules this host runs (Main DB, Cost Analytics DB).

mysql[:enable] = true

# The active database: it writes a binary log that the replica on 198.51.100.42 follows.
mysql[:server_id] = 1
mysql[:binlog] = true
mysql[:allow_remote_root] = true
mysql[:repl_allow_connections_from] = '198.51.100.42'
