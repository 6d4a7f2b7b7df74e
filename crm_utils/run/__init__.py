"""Running the kit: the ``crm-report`` command (``cli``), the monthly papermill run
(``pipeline``) and the browser check of report.html (``render_check``).

Nothing in the stages imports from here: notebooks run without the runner.
"""
