"""leadbook's button scripts, for xlwings Server (which runs ``import custom_scripts``)."""

from udfs.server import server_scripts

globals().update(server_scripts())
