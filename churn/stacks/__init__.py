"""ZenML stacks from `stacks/<ENV>.yaml`: the file's shape (`spec`), create-or-update (`apply`) and
the offline checks (`check`). The commands are in `churn.cli.stack`.

Only `apply` and `check` touch ZenML, and only inside their functions: importing this package stays
cheap for the `churn` console script.
"""
