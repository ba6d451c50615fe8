"""leadbook's cell functions, for xlwings Server (which runs ``import custom_functions``)."""

from udfs.server import server_functions

globals().update(server_functions())
