from undertow.cli.app import main

main()
