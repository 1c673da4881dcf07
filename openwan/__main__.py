from openwan.cli import main

main()
