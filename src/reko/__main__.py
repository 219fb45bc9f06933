from reko.cli import main

raise SystemExit(main())
