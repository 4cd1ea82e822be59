VALUE = "from src/pkg"
