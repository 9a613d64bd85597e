"""The reducer: results in the run store → the trials table (Parquet), seed-aggregated curves, critical masses with
bootstrap intervals, tables (CSV, Markdown, LaTeX), figures and the offline dashboard.

Reads trial records and audit rows; never trains, never calls Ray or MLflow (the sweep logs its outputs). May import:
``config`` (types only), ``store`` (atomic writes, layout) and ``lira`` row models.
"""
