"""The assistant's Rasa server: Rasa's own command line, started after this project's patches.

    python -m shop_server run --model models --endpoints endpoints.yml --credentials credentials.yml
    python -m shop_server shell --model models ...

`shop_server.patches` holds every replacement of a Rasa internal the project makes (what each
replaces, why, what it gained, the Rasa version and source hash it was checked against);
`python -m shop_server` installs them, refusing to start if Rasa is not exactly what they were
written for, and then hands its arguments to `rasa.__main__.main()` unchanged. Every place that
starts a Rasa server (scripts/stack.py, scripts/production.py, the images, Compose, Helm, the
tests) starts it this way; importing a channel or a store changes nothing in Rasa.
"""
