import sys

from jobs.admin.cli import main

sys.exit(main())
