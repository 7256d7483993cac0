"""dlgrade: auto-graded TensorFlow/Keras assignments."""

from autograder._deferred import defer_rfc3987_syntax

defer_rfc3987_syntax()
