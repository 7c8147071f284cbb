# /etc/scalr-server/scalr-server.rb for Scalr deployment golden-ha.
# Written by scalr-installer; identical on every host. Change the profile and run the installer
# again rather than editing this file: the next run writes it anew.

# Every host turns on its own modules in scalr-server-local.rb.
enable_all false

# What Scalr advertises: browsers and managed instances reach Scalr here.
routing[:endpoint_scheme] = 'http'
routing[:endpoint_host] = 'scalr.example.test'
routing[:graphics_scheme] = 'http'
routing[:graphics_host] = 'scalr.example.test'
routing[:plotter_scheme] = 'http'
routing[:plotter_host] = 'scalr.example.test'
routing[:plotter_port] = 80

# How Scalr connects to the instances it manages: public, local or auto.
app[:instances_connection_policy] = 'public'
app[:ip_ranges] = ['192.0.2.0/24']
app[:configuration] = { 'scalr' => { 'ec2' => { 'instances_connection_policy' => 'local' }, 'gce' => { 'instances_connection_policy' => 'auto' } } }

# The active MySQL holds both the main and the cost analytics database.
app[:mysql_scalr_host] = '198.51.100.41'
app[:mysql_scalr_port] = 3306
app[:mysql_analytics_host] = '198.51.100.41'
app[:mysql_analytics_port] = 3306

# Where the app finds the services on other hosts.
app[:memcached_servers] = ['198.51.100.11:11211', '198.51.100.12:11211']
app[:rabbitmq_host] = '198.51.100.21'
app[:influxdb_host] = '198.51.100.31'

# Each proxy forwards to the app on its own host, to the worker's plotter, and (for agents on
# port 5671) to RabbitMQ.
proxy[:bind_host] = '0.0.0.0'
proxy[:app_upstreams] = ['127.0.0.1:6000']
proxy[:graphics_upstreams] = ['127.0.0.1:6100']
proxy[:plotter_upstreams] = ['198.51.100.21:6200']
proxy[:rabbitmq_upstreams] = ['198.51.100.21']
web[:app_bind_host] = '127.0.0.1'
web[:app_bind_port] = 6000
web[:graphics_bind_host] = '127.0.0.1'
web[:graphics_bind_port] = 6100
service[:plotter_bind_host] = '0.0.0.0'
service[:plotter_bind_port] = 6200

# Services other hosts connect to listen on every interface.
mysql[:bind_host] = '0.0.0.0'
mysql[:bind_port] = 3306
memcached[:bind_host] = '0.0.0.0'
memcached[:bind_port] = 11211
influxdb[:http_bind_host] = '0.0.0.0'
rabbitmq[:bind_host] = '0.0.0.0'
rabbitmq[:mgmt_bind_host] = '0.0.0.0'
