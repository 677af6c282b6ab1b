"""`python3 -m experts_api`: serve the API with Uvicorn on $HOST:$PORT
(default 0.0.0.0:8000), the image's command."""

import os

import uvicorn


def main() -> None:
    uvicorn.run(
        "experts_api.main:app_from_env",
        factory=True,
        host=os.environ.get("HOST", "0.0.0.0"),
        port=int(os.environ.get("PORT", "8000")),
        server_header=False,
        log_level=os.environ.get("LOG_LEVEL", "info").lower(),
    )


if __name__ == "__main__":
    main()
