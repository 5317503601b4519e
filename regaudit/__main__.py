from regaudit.cli import main

main()
