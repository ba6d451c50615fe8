"""leadbook's cell functions, for xlwings Server (which runs ``import custom_functions``)."""

from udfs.server import server_functions, start_compute_processes

globals().update(server_functions())
start_compute_processes()
