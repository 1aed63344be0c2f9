"""The staff screens: navigation, login, layout and the pages finance staff use."""
