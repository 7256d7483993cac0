"""Reports for people and for other programs, written from results alone (no sandbox, no kernel).

- ``pages``: each student's ``feedback.html`` and the TAs' ``summary.html`` (Jinja2, autoescaped, no scripts);
- ``plots``: the figures on those pages, drawn here with matplotlib;
- ``exports``: ``gradebook.csv`` and Canvas's gradebook import;
- ``files``: a results folder's files, per student and for the class.
"""

from autograder.reports.files import write_class_reports, write_student_files
from autograder.reports.pages import feedback_html, summary_html

__all__ = ["feedback_html", "summary_html", "write_class_reports", "write_student_files"]
