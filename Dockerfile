# Othello-GPT Explorer: the dashboard on the bundled model.
# (Not built on the project's machines: they have no Docker engine.)
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY othello_core/ othello_core/
RUN pip install --no-cache-dir ".[app]"
COPY app/ app/
COPY .streamlit/ .streamlit/
COPY assets/ assets/
EXPOSE 8501
# Inside a container the server must listen on all interfaces to be reachable.
CMD ["python", "-m", "streamlit", "run", "app/streamlit_app.py", "--server.address", "0.0.0.0", \
     "--server.port", "8501", "--server.headless", "true", "--browser.gatherUsageStats", "false"]
