"""leadbook's sign-in for xlwings Server (found as ``auth.<provider>`` in the project)."""
