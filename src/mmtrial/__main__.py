from mmtrial.cli import main

main()
