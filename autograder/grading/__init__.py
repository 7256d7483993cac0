"""Grading one submission: the contract every grader meets, the steps they share, and dlgrade's own grader.

- ``contract``: ``Grader``, what a batch needs of any grader (dlgrade's, or Otter mode's);
- ``steps``: read the file, prepare the sandbox, assemble the result, key the calibration;
- ``public_checks``: Otter's ``grader.check`` run in the kernel, shown never counted;
- ``notebook``: ``NotebookGrader``, intake -> sandbox -> execute -> judge -> result.
"""
