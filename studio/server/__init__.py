"""The local HTTP API (aiohttp on the GUI's asyncio loop). Routes call services, nothing else."""
