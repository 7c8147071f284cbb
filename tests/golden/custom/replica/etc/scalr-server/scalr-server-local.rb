# /etc/scalr-server/scalr-server-local.rb for host replica of Scalr deployment golden-custom.
# Written by scalr-installer. The only configuration file that differs between hosts: it turns
# on the modules this host runs (Main DB, Cost Analytics DB).

mysql[:enable] = true

# The passive replica of the active database.
mysql[:server_id] = 2
mysql[:binlog] = true
mysql[:allow_remote_root] = true
