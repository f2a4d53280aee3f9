"""Steps of ``guanai demo``; each module has ``run_demo(arc, workdir, passphrase, echo)``."""
