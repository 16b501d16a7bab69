from bertanno.cli import main

main()
