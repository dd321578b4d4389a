# pilotedge: process units (vessel, canister) built by app.py from the board file (MIT).
