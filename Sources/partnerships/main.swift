print("partnerships")
