# /etc/scalr-server/scalr-server.rb for Scalr deployment golden-compact.
# Written by scalr-installer; identical on every host. Change the profile and run the installer
# again rather than editing this file: the next run writes it anew.

# One VM runs every module.
enable_all true

# What Scalr advertises: browsers and managed instances reach Scalr here.
routing[:endpoint_scheme] = 'http'
routing[:endpoint_host] = 'scalr.example.test'
routing[:graphics_scheme] = 'http'
routing[:graphics_host] = 'scalr.example.test'
routing[:plotter_scheme] = 'http'
routing[:plotter_host] = 'scalr.example.test'
routing[:plotter_port] = 80

# How Scalr connects to the instances it manages: public, local or auto.
app[:instances_connection_policy] = 'auto'
