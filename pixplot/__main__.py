from pixplot.cli import main

raise SystemExit(main())
