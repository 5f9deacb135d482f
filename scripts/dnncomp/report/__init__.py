"""From records to the reader: summary table (summary, columns), statistics over seeds (stats), figures
(figures, plots), the HTML report (html, layout) and the study's cost account (cost)."""
